"""Tests of the counter's desks (enrolment, giftcards, profile)."""
