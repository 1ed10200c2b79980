"""Card readers as the core knows them: the small protocol the drivers in ``drivers/``
implement, and the scan pipeline that turns a reader's bytes into a trusted scan.
"""
