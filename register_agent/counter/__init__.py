"""The desks the POS calls besides the sale: reward claims, giftcards, handing out and
looking up customers, the customer's profile; the current customer they all serve; the POS's
messages and the till's health the desks answer by.
"""
