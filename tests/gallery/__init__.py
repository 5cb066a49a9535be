"""gallery: photo uploads and storage, the customer's gallery and email, and cleanup."""
