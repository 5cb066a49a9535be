"""demo: the demo kiosk page and the demo command."""
