from django.core.management.base import BaseCommand, CommandError

from qinglang.funds.verify import ledger_verify


class Command(BaseCommand):
    help = "Verify the funds ledger: balances = sums of entries, postings sum to zero, paid = released + refunded + held."

    def handle(self, *args, **options):
        r = ledger_verify()
        if not r.ok:
            for p in r.problems:
                self.stderr.write(p)
            raise CommandError(f"ledger verify: {len(r.problems)} problem(s)")
        self.stdout.write(f"ledger ok: {r.accounts} accounts, {r.postings} postings, {r.orders} orders")
