"""What every floor of the agent uses: log lines with their context, and the events the
POS screen hears.
"""
