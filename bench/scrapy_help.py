"""The Scrapy side of the `crawl` bench pair: follow every link under
--start (robots off, no delay, the given concurrency) and write url, title
and text of each page as JSON lines (bench/crawl_bench.py runs it)."""

import argparse

import scrapy
from scrapy.crawler import CrawlerProcess
from scrapy.linkextractors import LinkExtractor


class HelpSpider(scrapy.Spider):
    name = "help"

    def __init__(self, start, **kw):
        super().__init__(**kw)
        self.start_urls = [start]
        self.links = LinkExtractor(allow=[f"^{start}"], deny_extensions=[], tags=["a", "area"])

    def parse(self, response):
        if not hasattr(response, "css"):  # not text (the three .js files)
            return
        body = response.xpath("//body//text()[not(ancestor::script) and not(ancestor::style)]").getall()
        yield {
            "url": response.url,
            "title": (response.css("title::text").get() or "").strip(),
            "text": "\n".join(t.strip() for t in body if t.strip()),
        }
        for link in self.links.extract_links(response):
            yield response.follow(link, callback=self.parse)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--start", required=True)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    process = CrawlerProcess(settings={
        "CONCURRENT_REQUESTS": args.concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": args.concurrency,
        "ROBOTSTXT_OBEY": False,
        "DOWNLOAD_DELAY": 0,
        "LOG_LEVEL": "ERROR",
        "TELNETCONSOLE_ENABLED": False,
        "FEEDS": {args.out: {"format": "jsonlines", "encoding": "utf8"}},
    })
    process.crawl(HelpSpider, start=args.start)
    process.start()


if __name__ == "__main__":
    main()
