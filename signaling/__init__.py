"""Live rooms: Socket.IO signaling, presence and the forwarding SFU (see issue #3)."""
