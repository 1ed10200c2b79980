"""What the core knows of card readers and receipt printers: the small protocols the
drivers in ``drivers/`` implement, and the scan pipeline that turns a reader's bytes into a
trusted scan.
"""
