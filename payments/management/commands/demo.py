from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Set up and run the demo: migrate, load demo data, start the development server (DEBUG only)."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args, addrport, **options):
        if not settings.DEBUG:
            raise CommandError("The demo runs with DEBUG=true (it uses the payment simulator and the dev server).")
        call_command("migrate", interactive=False, verbosity=0)
        call_command("load_demo_data")
        url = f"http://{addrport}"
        self.stdout.write(
            f"\nPayment gateway: {settings.PAYMENT_GATEWAY}\n"
            f"Kiosk:  {url}/kiosk/  (open this: buy a session, pay, upload photos, see the gallery)\n"
            f"Admin:  {url}/admin/\n"
            f"API:    {url}/api/v1/transactions  (see README: 'Try the pay flow')\n"
        )
        # No autoreloader: it would run this whole command twice.
        call_command("runserver", addrport, use_reloader=False)
