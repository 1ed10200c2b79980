"""The enrolment desk: a new card handed out, a customer found by e-mail or chosen for the
next sale; its messages for the POS and its refusals.
"""
