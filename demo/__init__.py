"""The demo: the demo kiosk page (/kiosk/, with DEBUG or DEMO_KIOSK) and the demo commands
(`manage.py demo`, `manage.py load_demo_data`). It sits above the other apps and may use any of them;
none of them uses it."""
