"""One router per resource group, built from the services; each API function includes its router."""
