"""``execdeck serve``: the console in a browser for sandbox demos, on ``textual-serve``.

* :mod:`~tui.serve.guard`: the token, the visitor's signed cookie, the Origin check (a middleware);
* :mod:`~tui.serve.limits`: how many consoles at once, in all and per client address;
* :mod:`~tui.serve.visitor`: what a visitor's console is started with (argv, a clean environment, its
  access); :mod:`~tui.serve.keeper`, its process: a keeper that ends whatever the console left, and the
  console (:mod:`~tui.serve.visitor_app`);
* :mod:`~tui.serve.console`: one visitor's console seen from the server (textual-serve's ``AppService``
  with the clean start, the idle clock and a stop that always ends);
* :mod:`~tui.serve.server`: the aiohttp server (textual-serve's ``Server`` with the guard, the limits, a
  page of our own and a websocket handler that never leaves a console behind).

The server process never imports Textual: only a visitor's console does.
"""
