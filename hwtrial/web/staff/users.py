"""Staff pages: users (routes added to the staff blueprint)."""
