"""Plugin loading and the component registry."""
