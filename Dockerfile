# techwatch: a slim image that runs `techwatch run` as a non-root user, the archive on a volume.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY bot ./bot
COPY config ./config
COPY seeds ./seeds
RUN pip install .
RUN useradd --create-home --uid 10001 techwatch && mkdir -p /app/data \
    && chown techwatch:techwatch /app/data
USER techwatch

VOLUME ["/app/data"]
# the daemon serves /healthz and /metrics on port 9100 of every address of the container (publish
# it to scrape /metrics: `-p 127.0.0.1:9100:9100`); `techwatch health` asks it on loopback
ENV TECHWATCH_HEALTH_PORT=9100 TECHWATCH_HEALTH_HOST=0.0.0.0
EXPOSE 9100
HEALTHCHECK --interval=60s --timeout=10s --start-period=120s --retries=3 CMD ["techwatch", "health"]
ENTRYPOINT ["techwatch"]
CMD ["run"]
