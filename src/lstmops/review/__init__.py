"""What a reviewer reads before a version serves: its registry record beside its monitoring history."""
