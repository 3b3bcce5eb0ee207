"""State shared by every instance: which final uploads wait on which partials, and each batch's files."""
