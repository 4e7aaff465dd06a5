"""Local emulators of the accounting systems' APIs, served over real HTTP for tests and the demo.

`xledger` and `dynamics` are ASGI apps; `server` runs one with uvicorn (in a thread or a
process); every sandbox has the control endpoints of `control` for faults and inspection.
"""
