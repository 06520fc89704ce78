"""What awards does when another module announces something (agri_insurance.announcements)."""
