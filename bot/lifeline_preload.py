"""Imported only by the extraction pool's forkserver (its preload): the server dies with the
techwatch process that started it. Never import it elsewhere: it arms the process it runs in."""

from bot.lifeline import arm_forkserver

arm_forkserver()
