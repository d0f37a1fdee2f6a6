"""Staff pages: studies (routes added to the staff blueprint)."""
