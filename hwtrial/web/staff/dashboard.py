"""Staff pages: dashboard (routes added to the staff blueprint)."""
