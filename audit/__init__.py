"""The audit log: every destructive or administrative action, who did it and through which door.

The services record (`audit.log.record`) where the action happens, so an action is logged the same
whichever door asked for it; the doors only say who is acting (`aws_protocol.actor`).
"""
