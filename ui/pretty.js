// XML and JSON bodies re-indented for reading. The result is text, shown with
// textContent: nothing in a body is ever parsed as this page's markup. DOMParser builds an
// inert XML document (no script runs in it), which is only walked to write text.

/** JSON re-indented, or null when the text is not JSON. */
export function prettyJson(text) {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return null;
  }
}

function escapeText(text) {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function attributes(node) {
  return [...node.attributes]
    .map((a) => ` ${a.name}="${escapeText(a.value).replace(/"/g, '&quot;')}"`).join('');
}

function write(node, depth, out) {
  const pad = '  '.repeat(depth);
  switch (node.nodeType) {
    case Node.ELEMENT_NODE: {
      const kids = [...node.childNodes].filter((k) =>
        !(k.nodeType === Node.TEXT_NODE && !k.nodeValue.trim()));
      const open = `${pad}<${node.nodeName}${attributes(node)}`;
      if (!kids.length) {
        out.push(`${open}/>`);
      } else if (kids.length === 1 && kids[0].nodeType === Node.TEXT_NODE) {
        out.push(`${open}>${escapeText(kids[0].nodeValue.trim())}</${node.nodeName}>`);
      } else {
        out.push(`${open}>`);
        kids.forEach((k) => write(k, depth + 1, out));
        out.push(`${pad}</${node.nodeName}>`);
      }
      break;
    }
    case Node.TEXT_NODE:
      out.push(pad + escapeText(node.nodeValue.trim()));
      break;
    case Node.CDATA_SECTION_NODE:
      out.push(`${pad}<![CDATA[${node.nodeValue}]]>`);
      break;
    case Node.COMMENT_NODE:
      out.push(`${pad}<!--${node.nodeValue}-->`);
      break;
    case Node.PROCESSING_INSTRUCTION_NODE:
      out.push(`${pad}<?${node.target} ${node.data}?>`);
      break;
    default:
      break;
  }
}

/** XML re-indented, or null when the text is not well-formed XML. */
export function prettyXml(text) {
  const doc = new DOMParser().parseFromString(text, 'application/xml');
  if (doc.getElementsByTagName('parsererror').length) return null;
  const out = [];
  for (const node of doc.childNodes) write(node, 0, out);
  return out.join('\n');
}
