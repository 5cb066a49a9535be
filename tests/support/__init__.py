"""What the tests share that is not a fixture: factories, fake servers' starters, webhook bodies,
threads released together, real processes and live instances, and readers for what the product
only writes (encrypted answers, QRIS strings). The fixtures in tests/conftest.py are built on these."""
