"""The sandbox's share of Leat's client API (``/api/v3/oauth/clients``, the account's
personal access token): orders and returns, collectable rewards, the product library, and
the vouchers' lock, release and validation (their find and redeem are the register's too)."""

from register_agent.sandbox import collectables, orders, products, vouchers

TABLES = [orders.ROUTES, collectables.ROUTES, products.ROUTES, vouchers.CLIENT_ROUTES]
