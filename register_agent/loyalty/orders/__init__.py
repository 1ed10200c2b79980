"""Leat's client API at the counter (orders, order returns, vouchers, collectable rewards,
the product library): its answer models so far, the ground for an orders backend."""
