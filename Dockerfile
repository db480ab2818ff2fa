# techwatch: a slim image that runs `techwatch run` as a non-root user, the archive on a volume.
# The base image is pinned by version and every Python package by .ci/constraints.txt, so two
# builds of one commit install the same things.
FROM python:3.11.14-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# The dependencies first, from pyproject.toml alone: a change to the code reuses this layer.
COPY pyproject.toml ./
COPY .ci/constraints.txt ./constraints.txt
RUN python -c "import tomllib; project = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
print(*project['dependencies'], sep='\n')" > requirements.txt \
    && pip install -c constraints.txt -r requirements.txt setuptools \
    && rm requirements.txt

# Then the code, installed without touching the dependencies.
COPY README.md ./
COPY bot ./bot
COPY config ./config
COPY seeds ./seeds
RUN pip install --no-deps --no-build-isolation . && rm -rf build techwatch.egg-info
RUN useradd --create-home --uid 10001 techwatch && mkdir -p /app/data \
    && chown techwatch:techwatch /app/data
USER techwatch

# The archive (techwatch.db) lives here. A bind-mounted host directory must be writable by uid
# 10001 (`chown 10001 DIR`) or the container run as its owner (`--user "$(id -u)"`).
VOLUME ["/app/data"]
# the daemon (`run`) and the Slack app (`serve`) serve /healthz, /readyz and /metrics on port 9100
# of every address of the container (publish it to scrape /metrics: `-p 127.0.0.1:9100:9100`);
# `techwatch health` asks /healthz on loopback
ENV TECHWATCH_HEALTH_PORT=9100 TECHWATCH_HEALTH_HOST=0.0.0.0
EXPOSE 9100
HEALTHCHECK --interval=60s --timeout=10s --start-period=120s --retries=3 CMD ["techwatch", "health"]
# SIGTERM stops techwatch cleanly within 5 s, well inside `docker stop`'s default 10 s grace.
STOPSIGNAL SIGTERM
ENTRYPOINT ["techwatch"]
CMD ["run"]
