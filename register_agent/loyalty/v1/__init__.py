"""Register API v1 (2021): its paths, its answers' shapes, and its services (credits,
members, enrolment, giftcards, profile).
"""
