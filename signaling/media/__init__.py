"""Media: aiortc as a forwarding SFU. aiortc types stay inside this package.

The room layer talks to :class:`signaling.media.sfu.Sfu`: negotiate a participant's peer
connection, say whose media is forwarded, and read back which slot shows whom.
"""
