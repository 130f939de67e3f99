"""Organizations, users, memberships and roles, portal sign-in (JWT) and its sessions."""
