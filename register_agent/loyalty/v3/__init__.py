"""Register API v3: its paths, its answers' shapes, and its services (credits, contacts,
enrolment, giftcards, profile).
"""
