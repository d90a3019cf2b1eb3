// Opens a lowbit report in headless Chromium (Debian's chromium, driven by playwright-core):
// what each figure drew, the page's console errors, and a full-page screenshot.
// Also a script: node dist/test/helpers/browser.js report.html shot.png
import { existsSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const chromiumPath = process.env.LOWBIT_CHROMIUM ?? '/usr/bin/chromium';

export interface BrowserCheck {
  /** Per figure: its id, whether it holds an SVG, and how many mark elements it drew. */
  figures: { id: string; svg: boolean; marks: number; width: number }[];
  errors: string[];
  title: string;
}

export async function checkReport(htmlFile: string, screenshot: string): Promise<BrowserCheck> {
  if (!existsSync(chromiumPath))
    throw new Error(`no Chromium at ${chromiumPath}: install Debian's chromium (scripts/install.sh does) or set LOWBIT_CHROMIUM`);
  const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1150, height: 900 } });
    const errors: string[] = [];
    page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
    page.on('pageerror', (e) => errors.push(String(e)));
    // Offline by construction: any request beyond the file itself is an error.
    await page.route('**/*', (route) =>
      route.request().url().startsWith('file://') ? route.continue() : (errors.push(`network: ${route.request().url()}`), route.abort()),
    );
    await page.goto(`file://${path.resolve(htmlFile)}`);
    const figures = await page.$$eval('figure.chart', (els) =>
      els.map((el) => {
        const svg = el.querySelector('svg');
        // Vega draws every mark inside a group with class role-mark; count what they hold.
        const groups = Array.from(el.querySelectorAll('g.role-mark')) as { childElementCount: number }[];
        const marks = groups.reduce((n, g) => n + g.childElementCount, 0);
        return { id: el.getAttribute('data-chart') ?? '', svg: svg !== null, marks, width: svg?.getBoundingClientRect().width ?? 0 };
      }),
    );
    await page.screenshot({ path: screenshot, fullPage: true });
    return { figures, errors, title: await page.title() };
  } finally {
    await browser.close();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]).endsWith(path.join('helpers', 'browser.js'))) {
  const [html, shot] = process.argv.slice(2);
  if (!html || !shot) {
    console.error('usage: node dist/test/helpers/browser.js report.html screenshot.png');
    process.exit(2);
  }
  checkReport(html, shot).then(
    (r) => console.log(JSON.stringify(r, null, 1)),
    (e: Error) => {
      console.error(e.message);
      process.exit(1);
    },
  );
}
