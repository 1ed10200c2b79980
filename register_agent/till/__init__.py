"""The sale: a scan binds a customer, a paid sale is written to the journal with the
operations for its credits, its loyalty block is answered to the POS, and after the sale come
refunds, voids and reprints.
"""
