"""The pure trading domain: exact values, orders, positions, accounts, risk. No I/O, clock or threads."""
