"""Refunds: money given back for one payment of a sale, requested by staff (or made in Xendit's
dashboard), recorded before Xendit is asked, settled by Xendit's refund webhook or the refund check.
"""
