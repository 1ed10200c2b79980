"""The giftcard desk: look a card up, pay part of a sale with it, top it up, correct its
last transaction; where a payment whose answer was lost is decided; its messages and refusals.
"""
