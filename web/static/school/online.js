// Every logged-in page: one /school socket, so that Kelas knows who has it open. Socket.IO
// keeps it alive with its own heartbeat and reconnects it; the server marks the person
// online on connect and offline when their last socket closes. Its own connection
// (forceNew), so the class page's socket and its reconnect logic are left alone.
import { io } from "socket.io-client";

export const school = io("/school", { transports: ["websocket"], forceNew: true });
