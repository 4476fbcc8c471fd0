/// The console's style sheet and its one script, served from `/console/static/` (the
/// Content-Security-Policy allows nothing else: no inline style or script, nothing from
/// another origin). The script only makes the template preview follow the typing; every
/// page works without it.
enum ConsoleAssets {
    /// Every console response carries it.
    static let contentSecurityPolicy = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
        + "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

    /// Colours meet WCAG AA (4.5:1) on their backgrounds; ConsoleBrowserTests measures them.
    static let css = """
        *{box-sizing:border-box}
        body{font-family:system-ui,Arial,Helvetica,sans-serif;margin:0;color:#1f2328;background:#fff;line-height:1.45}
        .skip{position:absolute;left:-9999px}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.5rem;z-index:9}
        header{display:flex;flex-wrap:wrap;gap:.5rem 1.5rem;align-items:center;justify-content:space-between;padding:.6rem 1rem;background:#0b3d91;color:#fff}
        header a{color:#fff;text-decoration:none;padding:.3rem .5rem;border-radius:4px}
        header a:hover,header a:focus,header a[aria-current]{background:#072b66;text-decoration:underline}
        header nav{display:flex;flex-wrap:wrap;gap:.2rem;align-items:center}header strong{margin-right:.8rem}
        .who{display:flex;gap:.8rem;align-items:center;flex-wrap:wrap}.who form{margin:0}
        main{padding:1rem 1.5rem;max-width:80rem}
        h1{font-size:1.5rem;margin:.4rem 0 1rem}h2{font-size:1.2rem;margin:1.6rem 0 .6rem}
        a{color:#0b57d0}
        table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem;font-size:.95rem}
        caption{text-align:left;font-weight:600;padding:.3rem 0}
        th,td{border-bottom:1px solid #d0d7de;padding:.35rem .5rem;text-align:left;vertical-align:top}
        th{background:#f6f8fa}.scroll{overflow-x:auto}
        form{margin:.5rem 0}label{display:block;font-weight:600;margin:.5rem 0 .2rem}
        input,select,textarea{font:inherit;padding:.35rem .5rem;border:1px solid #57606a;border-radius:4px;max-width:100%;color:#1f2328;background:#fff}
        textarea{width:100%;font-family:ui-monospace,Menlo,Consolas,monospace}
        .inline label,.inline input,.inline select,.inline button{display:inline-block;margin-right:.4rem}
        .filters{display:grid;grid-template-columns:repeat(auto-fill,minmax(12rem,1fr));gap:0 1rem;align-items:end}
        button{font:inherit;padding:.4rem .9rem;margin:.3rem .4rem .3rem 0;background:#0b57d0;color:#fff;border:0;border-radius:4px;cursor:pointer}
        button:focus,a:focus,input:focus,select:focus,textarea:focus{outline:3px solid #f5a623;outline-offset:1px}
        button.danger{background:#b42318}button.quiet{background:#072b66;border:1px solid #fff}
        .notice{background:#e6f4ea;color:#0d4620;padding:.6rem .8rem;border-radius:4px}
        .error{background:#fdecea;color:#8a1c12;padding:.6rem .8rem;border-radius:4px}
        .empty{color:#57606a}
        .status{font-weight:600;padding:0 .3rem;border-radius:3px}
        .s-sent,.s-delivered{color:#0d4620;background:#e6f4ea}.s-failed,.s-undelivered{color:#8a1c12;background:#fdecea}
        .s-suppressed,.s-cancelled,.s-expired{color:#5c3c00;background:#fff4d6}.s-pending,.s-sending{color:#0b3d91;background:#e8f0fe}
        .cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(10rem,1fr));gap:.8rem}
        .card{border:1px solid #d0d7de;border-radius:6px;padding:.6rem .8rem}.card b{display:block;font-size:1.6rem}
        .ok{color:#0d4620}.bad{color:#8a1c12}
        pre{white-space:pre-wrap;background:#f6f8fa;padding:.6rem;border-radius:4px;border:1px solid #d0d7de}
        .chart{max-width:100%;height:auto}.legend span{margin-right:1rem}
        .k-sent{color:#0d4620}.k-failed{color:#8a1c12}.k-undelivered{color:#5c3c00}
        ol.timeline{padding-left:1.2rem}ol.timeline li{margin:.3rem 0}
        .lint{color:#8a1c12}mark{background:#fff4d6;color:#1f2328}
        """

    /// Posts the editor's form to its preview route as the text changes and puts the
    /// answer (a fragment rendered by the same code as the Preview button's page) in place.
    static let javascript = """
        (function () {
          var form = document.getElementById('template-editor');
          var target = document.getElementById('preview');
          if (!form || !target || !window.fetch) return;
          var timer = null;
          function refresh() {
            var data = new URLSearchParams(new FormData(form));
            data.set('do', 'preview');
            data.set('fragment', '1');
            fetch(form.getAttribute('action'), {method: 'POST', body: data, credentials: 'same-origin',
              headers: {'Content-Type': 'application/x-www-form-urlencoded'}})
              .then(function (r) { return r.ok && !r.redirected ? r.text() : null; })
              .then(function (html) { if (html !== null) target.innerHTML = html; })
              .catch(function () {});
          }
          form.addEventListener('input', function () { clearTimeout(timer); timer = setTimeout(refresh, 400); });
        })();
        """
}
