"""Staff pages: participants (routes added to the staff blueprint)."""
