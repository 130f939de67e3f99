"""Streaming chat over API Gateway WebSocket (issue 13): the second transport of the agent runtime.

`protocol` reads the client's messages and writes the server's frames (docs/websocket.md), `repository` keeps
the open connections (`websocket_connections`, migration 0025), `services.WebSocketChat` runs `$connect`,
a chat message and `$disconnect` with the same runtime core as the REST chat route (`services.agent.stream`,
admitted by `services.gateway.admit`). The Lambda handler is `functions/chat_ws/app.py` (Chalice).
"""
