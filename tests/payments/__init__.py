"""payments: sales, their transitions, the gateways (Xendit and the simulator), webhooks, polls and
refunds."""
