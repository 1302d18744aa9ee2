"""Members: accounts, sign-up, login, profiles and the admin member list."""
