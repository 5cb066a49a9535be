"""locations: kiosk keys, and what a kiosk may do with one."""
