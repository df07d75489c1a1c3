import sys

from devtools.engine_proxy.server import main

sys.exit(main())
