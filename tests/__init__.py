"""The test suite, laid out as the code is: one package per app (core, locations, pricing, payments,
gallery), the staff screens (backoffice), the demo, the project as a whole (project), real browsers
(browser), fake Xendit and Cloudinary servers (fakes) and what the tests share (support)."""
