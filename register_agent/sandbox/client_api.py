"""The sandbox's share of Leat's client API (``/api/v3/oauth/clients``, the account's
personal access token): orders and returns, collectable rewards, the product library."""

from register_agent.sandbox import collectables, orders, products

TABLES = [orders.ROUTES, collectables.ROUTES, products.ROUTES]
