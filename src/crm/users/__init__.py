"""Members of an org (profiles): listing, adding, updating, removing, activating."""
