// Every logged-in page: one /school socket, so that Kelas knows who has it open. Socket.IO
// keeps it alive with its own heartbeat and reconnects it; the server marks the person
// online on connect and offline when their last socket closes. Its own connection
// (forceNew), so the class page's socket and its reconnect logic are left alone.
import { io } from "socket.io-client";

export const school = io("/school", { transports: ["websocket"], forceNew: true });

// A coordinator has just given this tutor a class that is on now: say so on whatever page
// they have open, with the way in (the server words it in their language).
school.on("school:called", ({ lesson_id: lessonId, message, action, join_url: url }) => {
  const main = document.getElementById("main");
  if (!main || document.querySelector(`[data-called="${lessonId}"]`)) return;
  const note = document.createElement("div");
  note.className = "notice warn called";
  note.setAttribute("role", "alert");
  note.dataset.called = String(lessonId);
  const link = document.createElement("a");
  link.className = "button";
  link.href = url;
  link.textContent = action;
  note.append(message, " ", link);
  main.prepend(note);
});
