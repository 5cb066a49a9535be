from django.core.management.base import BaseCommand, CommandError

from pricing.selectors import QuotaCount, quota_differences
from pricing.services import fix_quota_counts


class Command(BaseCommand):
    help = (
        "Compare every price's quota counters (quota used, paid sales) with its sales counted in full and print "
        "each difference; exit status 1 when any differ. With --fix, set each differing counter to the full "
        "count under its price's row lock (safe while kiosks sell) and exit 0."
    )

    def add_arguments(self, parser):
        parser.add_argument("--fix", action="store_true", help="Repair the counters that differ.")

    def handle(self, *args, fix: bool = False, **options):
        differences = fix_quota_counts() if fix else quota_differences()
        for count in differences:
            self.stdout.write(describe(count, fixed=fix))
        if not differences:
            self.stdout.write("Every price's quota counters match its sales.")
        elif fix:
            self.stdout.write(f"Fixed the counters of {len(differences)} price(s).")
        else:
            raise CommandError(f"{len(differences)} price(s) with counters that differ: run check_quotas --fix.")


def describe(count: QuotaCount, *, fixed: bool) -> str:
    verb = "was" if fixed else "is"
    return (
        f"{count.price} ({count.price_id}): quota used {verb} {count.quota_used}, counted {count.counted_quota_used}; "
        f"paid sales {verb} {count.paid_sales}, counted {count.counted_paid_sales}"
    )
