from django.dispatch import Signal

# Sent with ``request`` (an AttentionRequest) and ``now`` (the instant of the dispatch, a
# datetime) when a check-in asks for a human's attention.
# Receivers return True when they have taken it on (the flags app raises a flag); until one
# does, the request stays pending and the periodic sweep offers it again. Nothing is lost.
attention_requested = Signal()
